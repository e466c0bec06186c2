"""Voice of the customer: review sentiment (with aspects), topics, satisfaction."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Columns360, Job, Page, Stage, Table

CAPABILITY = Capability(
    name="voice",
    summary="Review sentiment and aspects, topics, satisfaction per customer and product.",
    tables=(
        Table("review_sentiment", "review", customer="customer_id"),
        Table("review_aspects", "review", customer="customer_id"),
        Table("review_topics", "review", doc="the topic of each review"),
        Table("review_topic_summary", "none", doc="one row per topic"),
        Table("customer_sentiment", "customer", customer="customer_id"),
        Table("product_sentiment", "product"),
    ),
    jobs=(
        Job("sentiment", run="insightloop.services.sentiment:score_reviews",
            summary="Score the sentiment of every review"),
        Job("topics", run="insightloop.services.sentiment:discover_topics",
            summary="Discover review topics"),
    ),
    pages=(Page("/sentiment", "Sentiment", "Sentiment and topics", reports=("h_sentiment",),
                missing="Review sentiment is not scored yet: ingest reviews, then run "
                        "`insightloop sentiment score`.", order=50, custom=True),),
    customer_360=(Columns360("customer_sentiment", ("sentiment_reviews", "sentiment_avg",
                                                    "sentiment_last", "complaint_count")),),
    demo=(Stage("scoring review sentiment (bundled real reviews, synthetic customer/product "
                "link)", run="insightloop.services.sentiment.demo:demo_stage"),),
)
