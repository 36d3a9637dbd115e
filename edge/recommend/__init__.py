"""Recommendations: ONNX recommender runtime with in-stock and size filters."""
