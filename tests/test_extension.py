"""codec._native: built by the set-up, its constants equal the Python ones, and a stale build (other
sources or constants than the checkout's) is refused with a warning instead of used."""

from __future__ import annotations

import pytest

from codec import extension, native_sources
from codec.predictors import kernel, kernel_c

built = pytest.mark.skipif(extension.load() is None, reason="the C extension is not built here")


@built
def test_the_built_extension_is_this_checkouts() -> None:
    assert kernel_c.library() is not None
    assert extension.constants(extension.load(), "dnac_constants") == kernel_c._python_constants()


@built
def test_an_extension_built_from_other_sources_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(native_sources, "digest", lambda: "0" * 64)
    extension.load.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="reinstall"):
            assert extension.load() is None
    finally:
        monkeypatch.undo()
        extension.load.cache_clear()
    assert extension.load() is not None


@built
def test_an_extension_with_other_constants_is_refused(monkeypatch) -> None:
    real = kernel_c._python_constants()
    monkeypatch.setattr(kernel_c, "_python_constants", lambda: real[:-1] + [real[-1] + 1])
    kernel_c.library.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="other constants"):
            assert kernel_c.library() is None
    finally:
        monkeypatch.undo()
        kernel_c.library.cache_clear()
    assert kernel_c.library() is not None


@pytest.fixture
def choose_backend(monkeypatch):
    """Call ``kernel.backend()`` afresh under ``DNACODEC_KERNEL=setting`` (None: unset) and the given
    stand-ins for ``kernel_c.library`` and ``extension.built``; the process's choice is restored after."""
    def choose(setting: str | None, library=None, built=None) -> str | None:
        if setting is None:
            monkeypatch.delenv("DNACODEC_KERNEL", raising=False)
        else:
            monkeypatch.setenv("DNACODEC_KERNEL", setting)
        if library is not None:
            monkeypatch.setattr(kernel_c, "library", library)
        if built is not None:
            monkeypatch.setattr(extension, "built", built)
        kernel.backend.cache_clear()
        return kernel.backend()

    yield choose
    monkeypatch.undo()
    kernel.backend.cache_clear()


@built
@pytest.mark.parametrize("setting, expected", [(None, "c"), ("1", "c"), ("0", None)])
def test_the_c_step_is_the_default_where_it_is_built(setting: str | None, expected: str | None,
                                                     choose_backend) -> None:
    assert choose_backend(setting) == expected


def test_without_the_extension_the_numpy_reference_runs_with_a_warning(choose_backend) -> None:
    """No build at all (no C compiler at install): the numpy path, and the user is told once why it is slow."""
    with pytest.warns(RuntimeWarning, match="not built.*numpy reference"):
        assert choose_backend(None, library=lambda: None, built=lambda: False) is None


def test_a_stale_build_is_not_also_reported_as_missing(choose_backend, recwarn) -> None:
    """A stale build warns where it is refused (above); the step's choice adds no second warning."""
    assert choose_backend(None, library=lambda: None, built=lambda: True) is None
    assert not [w for w in recwarn if "not built" in str(w.message)]


def test_turned_off_on_purpose_the_numpy_reference_runs_silently(choose_backend, recwarn) -> None:
    assert choose_backend("0") is None
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
