"""Jira Service Management connector: Assets objects (AQL), change issues (JQL), approvals."""

from connectors.jira.config import JiraConfig
from connectors.jira.connector import JiraConnector

__all__ = ["JiraConfig", "JiraConnector"]
