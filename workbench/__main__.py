"""``python -m workbench``: the command line (:mod:`workbench.cli`)."""

from workbench.cli import main

if __name__ == "__main__":  # importing this module (a spawned worker, Panel's /components route) runs nothing
    raise SystemExit(main())
