"""Reading and writing large CSV tables: every record's fields checked against the header with precise errors,
and a table written exactly as pandas would, a column at a time. Knows nothing of what the columns mean."""
