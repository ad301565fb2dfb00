"""The course and the LMS: reading downloads (:mod:`.archive`), ids from names
(:mod:`.translit`), grades and feedback back to Moodle and Canvas (:mod:`.export`), the
TA's language (:mod:`.lang`)."""
