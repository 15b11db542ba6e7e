"""Generate the bundled example datasets (synthetic, so they carry no licence burden).

Run from the repository root: `python data/make_examples.py`. The output is
deterministic; the committed CSV files are exactly what this script writes.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

TOPICS = {
    "sports": "match season coach league striker goal final cup tournament player team "
    "score victory defeat stadium referee transfer injury champion olympic",
    "politics": "election senate vote minister parliament campaign policy governor debate "
    "reform treaty coalition ballot president law court budget party mayor",
    "technology": "software chip startup cloud robot smartphone app network data ai "
    "security update launch device battery quantum browser code platform",
    "finance": "market stocks bank inflation rates bond investors earnings profit shares "
    "dollar merger crypto fund trade economy tax loan quarter",
}
FILLER_WORDS = "new report says after amid over for with as big first week latest more why how"
FILLER = FILLER_WORDS.split(" ")
SOURCES = {
    "sports": ["daily_sport", "wire", "gazette"],
    "politics": ["capitol_post", "wire", "gazette"],
    "technology": ["tech_review", "wire", "blogs"],
    "finance": ["market_watch", "wire", "gazette"],
}
IMAGE_RATE = {"sports": 0.8, "politics": 0.4, "technology": 0.6, "finance": 0.3}


def headline(rng: random.Random, topic: str) -> str:
    words = []
    for _ in range(rng.randint(4, 9)):
        draw = rng.random()
        if draw < 0.4:
            words.append(rng.choice(TOPICS[topic].split()))
        elif draw < 0.75:
            words.append(rng.choice(TOPICS[rng.choice(list(TOPICS))].split()))
        else:
            words.append(rng.choice(FILLER))
    title = " ".join(words)
    return title[0].upper() + title[1:] + rng.choice(["", "", "!", "?", ":"])


def make_titles(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "source", "word_count", "has_image", "topic"])
        for _ in range(rows):
            topic = rng.choice(list(TOPICS))
            title = headline(rng, topic)
            source = rng.choice(SOURCES[topic]) if rng.random() > 0.03 else ""
            count = len(title.split()) + rng.randint(-1, 1) if rng.random() > 0.03 else ""
            image = "yes" if rng.random() < IMAGE_RATE[topic] else "no"
            writer.writerow([title, source, count, image, topic])


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    make_titles(here / "titles.csv", rows=2000, seed=7)
