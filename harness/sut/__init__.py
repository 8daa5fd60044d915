"""Driving a system under test: the adapter contract, SUT profiles and adapters."""
