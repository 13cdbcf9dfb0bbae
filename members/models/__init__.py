"""Members' models, one module per concern; import them from here."""

from .core import *  # noqa: F403
from .core import __all__ as _core
from .linking import *  # noqa: F403
from .linking import __all__ as _linking
from .richmenus import *  # noqa: F403
from .richmenus import __all__ as _richmenus
from .segments import *  # noqa: F403
from .segments import __all__ as _segments
from .totals import *  # noqa: F403
from .totals import __all__ as _totals
from .tracking import *  # noqa: F403
from .tracking import __all__ as _tracking

__all__ = [*_core, *_linking, *_richmenus, *_segments, *_totals, *_tracking]
