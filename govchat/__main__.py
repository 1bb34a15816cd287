import sys

from govchat.cli import main

sys.exit(main())
