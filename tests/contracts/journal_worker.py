"""A journal writer run as its own OS process by the contract tests.

Usage: ``python journal_worker.py URL STREAM COUNT [DELAY_S]``. Appends COUNT single-event
batches to STREAM with exact expected versions and prints ``ack <version> <position>`` after each
acknowledged append (flushed), so the parent knows exactly what was acknowledged before a SIGKILL.
"""

from __future__ import annotations

import sys
import time

from events import open_journal
from events.avatar import EmotionSet


def main() -> None:
    url, stream, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    journal = open_journal(url)
    version = journal.highest_version(stream)
    print("ready", flush=True)
    for _ in range(count):
        positions = journal.append(stream, [EmotionSet(emotion="happy", intensity=0.5)], version)
        version += 1
        print(f"ack {version} {positions[0]}", flush=True)
        if delay:
            time.sleep(delay)
    journal.close()


if __name__ == "__main__":
    main()
