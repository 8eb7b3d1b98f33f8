"""Dispatcher domain: targets, payloads, signing headers and the delivery policy — pure, no I/O."""
