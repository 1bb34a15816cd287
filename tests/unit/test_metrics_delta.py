"""Where a Synapse process spent its time between two metric scrapes (bench/metrics_delta.py)."""

from __future__ import annotations

from bench.metrics_delta import DB_TXN_TIME, SERVLET_CPU, growth, parse_samples, top

BEFORE = """
# TYPE synapse_storage_transaction_time_sum counter
synapse_storage_transaction_time_sum_total{desc="persist_events",server_name="s"} 2.0
synapse_storage_transaction_time_sum_total{desc="get_users",server_name="s"} 1.0
# TYPE synapse_http_server_response_ru_utime_seconds counter
synapse_http_server_response_ru_utime_seconds_total{method="PUT",servlet="RoomSendEventRestServlet",tag="",server_name="s"} 1.5
synapse_http_server_response_ru_utime_seconds_total{method="GET",servlet="SyncRestServlet",tag="",server_name="s"} 4.0
# TYPE synapse_http_server_response_ru_stime_seconds counter
synapse_http_server_response_ru_stime_seconds_total{method="PUT",servlet="RoomSendEventRestServlet",tag="",server_name="s"} 0.5
"""

AFTER = """
# TYPE synapse_storage_transaction_time_sum counter
synapse_storage_transaction_time_sum_total{desc="persist_events",server_name="s"} 5.0
synapse_storage_transaction_time_sum_total{desc="get_users",server_name="s"} 1.0
synapse_storage_transaction_time_sum_total{desc="new_txn",server_name="s"} 0.25
# TYPE synapse_http_server_response_ru_utime_seconds counter
synapse_http_server_response_ru_utime_seconds_total{method="PUT",servlet="RoomSendEventRestServlet",tag="",server_name="s"} 3.0
synapse_http_server_response_ru_utime_seconds_total{method="GET",servlet="SyncRestServlet",tag="",server_name="s"} 4.5
synapse_http_server_response_ru_utime_seconds_total{method="PUT",servlet="SyncRestServlet",tag="x",server_name="s"} 0.25
# TYPE synapse_http_server_response_ru_stime_seconds counter
synapse_http_server_response_ru_stime_seconds_total{method="PUT",servlet="RoomSendEventRestServlet",tag="",server_name="s"} 1.0
"""


def test_growth_is_the_difference_per_label_and_new_counters_count_from_zero() -> None:
    grown = growth(parse_samples(BEFORE), parse_samples(AFTER), DB_TXN_TIME, "desc")
    assert grown == {"persist_events": 3.0, "new_txn": 0.25}  # get_users did not grow


def test_growth_sums_every_named_sample_and_label_combination_of_a_group() -> None:
    grown = growth(parse_samples(BEFORE), parse_samples(AFTER), SERVLET_CPU, "servlet")
    # user + system CPU, over every method and tag
    assert grown == {"RoomSendEventRestServlet": 2.0, "SyncRestServlet": 0.75}


def test_top_lists_the_largest_first_and_ties_by_name() -> None:
    assert top({"b": 1.0, "a": 1.0, "c": 3.0, "d": 0.5}, 3) == [("c", 3.0), ("a", 1.0), ("b", 1.0)]
