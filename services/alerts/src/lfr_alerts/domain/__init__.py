"""Pure alert domain: the Alert aggregate, its events and the rules of human adjudication."""
