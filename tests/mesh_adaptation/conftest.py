import pytest

from workbench.mesh_adaptation.firedrake_support import INSTALL_HINT, firedrake_available

# Firedrake tests skip only when Firedrake is genuinely absent (`make test` installs it first)
needs_firedrake = pytest.mark.skipif(not firedrake_available(), reason=INSTALL_HINT)
