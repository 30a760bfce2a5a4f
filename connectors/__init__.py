"""Range drivers. Never import `orchestrator`: they are reached by name through the registry."""
