"""Engagement: who may be contacted (consent per channel and purpose, suppression, quiet hours,
frequency caps: decided in one place), content templates, send-time optimisation and event-
triggered journeys."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Columns360, Job, Page, Stage, Table

_SEND_TIMES = "insightloop.services.engagement:build_send_times"

CAPABILITY = Capability(
    name="engagement",
    summary="Eligibility, content, send time and journeys.",
    tables=(Table("send_times", "customer", customer="customer_id",
                  doc="each customer's best local hour and weekday to be contacted"),),
    jobs=(Job("send_times", run=_SEND_TIMES,
              summary="Compute each customer's best send hour and write table send_times"),
          Job("journeys_tick", run="insightloop.services.journeys:tick",
              summary="Advance every due customer of every enabled journey (idempotent)")),
    pages=(Page("/engagement", "Engagement", "Journeys and send time",
                reports=("engagement",),
                missing="No journey and no send times yet: run `insightloop sendtime build` "
                        "or `insightloop journeys create FILE`.", order=58),),
    customer_360=(Columns360("send_times", ("hour", "weekday", "source"), prefix="send_"),),
    demo=(Stage("computing send times (best local hour per customer)", run=_SEND_TIMES,
                key="send_times"),),
)
