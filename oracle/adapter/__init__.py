"""The Chainlink external adapter and content gateway (aiohttp); the app factory is oracle.adapter.app.create_app."""
