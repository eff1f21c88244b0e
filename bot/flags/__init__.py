"""Kill switches: flags toggled from Slack with an audit trail, served over OpenFeature's OFREP."""
