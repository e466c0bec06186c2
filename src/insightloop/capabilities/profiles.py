"""Profiles: one row per customer (recency, frequency, value, favourites, activity) and the
``customer_360`` view that joins every capability's columns to it."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Columns360, Job, Page, Stage, Table

CAPABILITY = Capability(
    name="profiles",
    summary="Customer 360 profiles from orders, products, customers and events.",
    tables=(
        Table("profiles", "customer", customer="customer_id",
              doc="one row per customer as of a date"),
        Table("customer_360", "customer", customer="customer_id",
              view=True, doc="profiles plus the columns each capability declares"),
    ),
    jobs=(Job("profiles", run="insightloop.services.profiles:build_profiles",
              summary="Build customer profiles and the customer_360 view"),),
    pages=(
        Page("/", "Overview", "Overview", reports=("a_overview", "clv", "f_cohorts"),
             missing="No orders yet: ingest orders and build profiles (`insightloop demo` "
                     "shows it all).", order=0, custom=True),
        Page("/customers", "Customers", "Customers", order=30, custom=True),
    ),
    customer_360=(Columns360("profiles"),),  # the first declaration: the view's spine
    demo=(Stage("building customer 360 profiles",
                run="insightloop.services.profiles:build_profiles", key="profiles"),),
)
