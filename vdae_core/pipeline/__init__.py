"""From a config to a saved run: model building, training orchestration, sampling, run folders."""
