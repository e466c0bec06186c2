"""The fixed test split of the sentiment corpora (same rule as benchmarks/sentiment.py)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from shared_data import shared_file

ZH = "zh_online_shopping_10_cats/online_shopping_10_cats.csv"
EN = "en_amazon_multidomain_sentiment_blitzer/blitzer_reviews_parsed.csv"


@lru_cache(maxsize=2)
def split(lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) of one corpus: ``train_test_split(0.2, random_state=42, stratify)``."""
    from sklearn.model_selection import train_test_split

    if lang == "zh":
        zh = pd.read_csv(shared_file(ZH), encoding="utf-8-sig", dtype={"review": str})
        zh = zh.loc[zh["review"].fillna("").str.replace("\ufeff", "").str.strip() != ""]
        frame = pd.DataFrame({"domain": zh["cat"], "label": zh["label"].astype(int),
                              "text": zh["review"].str.replace("\ufeff", "", regex=False)})
    else:
        en = pd.read_csv(shared_file(EN), dtype=str)
        frame = pd.DataFrame({"domain": en["domain"], "label": en["label"].astype(int),
                              "text": en["title"].fillna("") + ". "
                              + en["review_text"].fillna("")})
    train, test = train_test_split(frame, test_size=0.2, random_state=42,
                                   stratify=frame["label"])
    return train, test
