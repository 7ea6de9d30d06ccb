"""The reporting mart (DuckDB + Parquet) that PowerBI reads read-only."""

from hub.mart.build import MART_FILE, MartResult, build_mart, read_funnel

__all__ = ["MART_FILE", "MartResult", "build_mart", "read_funnel"]
