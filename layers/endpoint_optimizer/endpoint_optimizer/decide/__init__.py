"""Pure: snapshot + prices + policy + now -> findings and the run's chosen actions. No boto3."""
