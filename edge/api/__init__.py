"""FastAPI app for tablets, staff devices and the dashboard."""
