"""``numpy.fft`` and complex values under differentiation (issue 19). The transforms' rules are
tested through the op table (tests/engine/op_table_fft.py); here: the complex convention of ``grad``
(JAX's: ``∂f/∂a − i ∂f/∂b``), the error for rules written for real numbers only, and the
helpers without derivatives."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_impl as ri
import reference_impl.numpy as rnp

jax.config.update("jax_enable_x64", True)
Z = np.array([1.0 + 2.0j, 0.5 - 1.0j, -0.3 + 0.0j])


@pytest.mark.parametrize(
    "name,body",
    [
        ("abs(z)**2", lambda lib, z: lib.sum(lib.abs(z) ** 2)),
        ("abs at 0", lambda lib, z: lib.sum(lib.abs(z * lib.array([1.0, 1.0, 0.0])))),
        ("real, imag, conj", lambda lib, z: lib.sum(lib.real(z * z) + 3 * lib.imag(lib.conj(z)))),
        ("abs(fft)", lambda lib, z: lib.sum(lib.abs(lib.fft.fft(z)))),
        ("real(ifft(z) * exp(z))", lambda lib, z: lib.sum(lib.real(lib.fft.ifft(z) * lib.exp(z)))),
        ("irfft", lambda lib, z: lib.sum(lib.fft.irfft(z) ** 2)),
    ],
)
def test_grad_at_a_complex_input_is_jax_convention(name: str, body) -> None:
    got = ri.grad(lambda z: body(rnp, z))(Z)
    want = jax.grad(lambda z: body(jnp, z))(Z)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=name)
    assert np.iscomplexobj(got), name


def test_a_real_only_rule_at_a_complex_value_raises_naming_it() -> None:
    with pytest.raises(NotImplementedError, match="'maximum' at a complex value"):
        ri.grad(lambda z: rnp.sum(rnp.abs(rnp.maximum(z, 0.0))))(Z)
    with pytest.raises(NotImplementedError, match="'eigh' at a complex value"):
        ri.jvp(lambda a: rnp.abs(rnp.linalg.eigh(a * (1 + 1j))[0]), (np.eye(2),), (np.eye(2),))


def test_real_input_through_the_spectrum_gets_a_real_gradient() -> None:
    """Real → complex spectrum → real loss: the gradient is real (the real part of the complex
    transpose, as JAX), and equals the central finite difference."""
    x = np.random.default_rng(0).standard_normal(6)
    loss = lambda lib, x: lib.sum(lib.abs(lib.fft.rfft(x)) ** 3)  # noqa: E731
    g = ri.grad(lambda x: loss(rnp, x))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, jax.grad(lambda x: loss(jnp, x))(x), rtol=1e-12)
    e = np.eye(6) * 1e-6
    fd = [(loss(np, x + d) - loss(np, x - d)) / 2e-6 for d in e]
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_real_imag_conj_values_and_plain_real_arrays() -> None:
    np.testing.assert_array_equal(rnp.real(Z), Z.real)
    np.testing.assert_array_equal(rnp.imag(Z), Z.imag)
    np.testing.assert_array_equal(rnp.conj(Z), Z.conj())
    x = np.arange(3.0)
    np.testing.assert_array_equal(rnp.imag(x), np.zeros(3))
    assert ri.grad(lambda x: rnp.sum(rnp.real(x) * rnp.conj(x)))(x).tolist() == [0.0, 2.0, 4.0]


def test_frequencies_and_shifts_match_jax() -> None:
    for n, d in ((5, 0.1), (8, 2.0)):
        np.testing.assert_allclose(rnp.fft.fftfreq(n, d), jnp.fft.fftfreq(n, d))
        np.testing.assert_allclose(rnp.fft.rfftfreq(n, d), jnp.fft.rfftfreq(n, d))
    x = np.arange(12.0).reshape(3, 4)
    for axes in (None, 0, (1,), (0, 1)):
        np.testing.assert_array_equal(rnp.fft.fftshift(x, axes), jnp.fft.fftshift(x, axes))
        np.testing.assert_array_equal(rnp.fft.ifftshift(x, axes), jnp.fft.ifftshift(x, axes))


def test_errors_name_the_culprit() -> None:
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        rnp.fft.fft(x, axis=2)
    with pytest.raises(ValueError, match="norm must be one of"):
        rnp.fft.fft(x, norm="unitary")
    with pytest.raises(TypeError, match="rfftn: the input must be real"):
        rnp.fft.rfft(x + 1j)
    with pytest.raises(ValueError, match="invalid number of FFT data points"):
        rnp.fft.fft(x, n=0)


# --- linalg.eig ----------------------------------------------------------------------------------
A = np.array([[0.5, -1.2, 0.3], [1.1, 0.2, -0.4], [0.0, 0.7, 1.5]])  # one complex pair


def test_eig_values_match_jax_and_eigenvector_derivatives_are_opt_in() -> None:
    w, v = rnp.linalg.eig(A)
    jw, jv = jnp.linalg.eig(A)
    np.testing.assert_allclose(w, jw, rtol=1e-12)
    np.testing.assert_allclose(v, jv, rtol=1e-12, atol=1e-12)
    with pytest.raises(NotImplementedError, match="enable_eigvec_derivs=True"):
        ri.grad(lambda a: rnp.sum(rnp.abs(rnp.linalg.eig(a).eigenvectors)))(A)
    with pytest.raises(NotImplementedError, match="enable_eigvec_derivs=True"):
        ri.jvp(lambda a: rnp.linalg.eig(a).eigenvalues, (A,), (A,))
    # reverse mode through the eigenvalues alone is exact, opt-in or not
    loss = lambda lib, w: lib.sum(lib.real(w) ** 2 + lib.imag(w))  # noqa: E731
    want = jax.grad(lambda a: loss(jnp, jnp.linalg.eigvals(a)))(A)
    np.testing.assert_allclose(
        ri.grad(lambda a: loss(rnp, rnp.linalg.eig(a)[0]))(A), want, rtol=1e-10
    )
    np.testing.assert_allclose(
        ri.grad(lambda a: loss(rnp, rnp.linalg.eigvals(a)))(A), want, rtol=1e-10
    )


def test_eig_with_eigenvector_derivatives_matches_jax_lax_eig_under_vmap() -> None:
    a = np.stack([A, A.T + 0.3 * np.eye(3)])

    def ours(a: np.ndarray) -> tuple:
        f = lambda a: tuple(rnp.linalg.eig(a, enable_eigvec_derivs=True))  # noqa: E731
        return ri.jvp(f, (a,), (a @ a,))[1]

    def theirs(a: np.ndarray) -> tuple:
        f = lambda a: tuple(  # noqa: E731
            jax.lax.linalg.eig(
                a,
                compute_left_eigenvectors=False,
                enable_eigvec_derivs=True,
            )
        )
        return jax.jvp(f, (a,), (a @ a,))[1]

    for got, want in zip(ri.vmap(ours)(a), jax.vmap(theirs)(a), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_eig_names_a_non_square_input() -> None:
    with pytest.raises(ValueError, match=r"linalg.eig: expected a square matrix.*\(2, 3\)"):
        rnp.linalg.eig(np.ones((2, 3)))
