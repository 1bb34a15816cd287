"""GovChat's Synapse modules, one folder per rule users meet."""
