"""The demo street's codes."""

from __future__ import annotations

COUNTY = "430104"  # 岳麓区
STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区 (the demo accounts' community)
