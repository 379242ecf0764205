"""The access log: reads of young people's personal data, recorded and queried by auditors."""
