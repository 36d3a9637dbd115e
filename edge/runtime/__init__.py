"""The edge process: wires drivers, tracker, fusion and publishers around one owner loop."""
