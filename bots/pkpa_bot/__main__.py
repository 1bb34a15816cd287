import sys

from bots.pkpa_bot.main import main

sys.exit(main())
