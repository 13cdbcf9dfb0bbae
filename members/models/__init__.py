"""Members' models, one module per concern; import them from here."""

from .core import *  # noqa: F403
from .core import __all__ as _core
from .linking import *  # noqa: F403
from .linking import __all__ as _linking

__all__ = [*_core, *_linking]
