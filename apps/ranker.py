"""Launch the ranking app from a checkout: `python apps/ranker.py --set assets/voices --rater ann`.

A thin launcher: the app lives in the package (`voicejudge.app.ranking_page`), so the installed
`voicejudge rank` command starts the same thing with the same options.
"""

import sys

from voicejudge.app.cli import main

if __name__ == "__main__":
    sys.exit(main(["rank", *sys.argv[1:]]))
