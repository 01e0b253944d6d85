"""The hand-off: record holders and the preservation and data requests to send them."""
