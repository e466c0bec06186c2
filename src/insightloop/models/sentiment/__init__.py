"""Review sentiment (Chinese and English), aspects, topics and satisfaction aggregates."""

from insightloop.models.sentiment.classifier import SentimentClassifier
from insightloop.models.sentiment.model import DEFAULT_BAND, SentimentModel
from insightloop.models.sentiment.text import clean_texts, detect_language

__all__ = ["DEFAULT_BAND", "SentimentClassifier", "SentimentModel", "clean_texts",
           "detect_language"]
