"""Pieces every GovChat Synapse module shares."""
