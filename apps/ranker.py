"""Launch the ranking app from a checkout: `python apps/ranker.py --set assets/voices --rater ann`.

A thin launcher: the app lives in the package (`voicejudge.ranker_app`), so the installed
`voicejudge rank` command starts the same thing with the same options.
"""

import sys

from voicejudge.cli import main

if __name__ == "__main__":
    sys.exit(main(["rank", *sys.argv[1:]]))
