"""`python -m talkmesh_jax.cli …` runs the `talkmesh` command."""

import sys

from talkmesh_jax.cli.main import main

sys.exit(main())
