"""Demo data: a seeded, realistic enterprise (users, devices, apps, rollouts, CAB, audit)."""

from connectors.demo.config import DemoConfig
from connectors.demo.connector import DemoConnector
from connectors.demo.world import stream_counts

__all__ = ["DemoConfig", "DemoConnector", "stream_counts"]
