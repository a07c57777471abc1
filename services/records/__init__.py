"""Records: timelines, replay, response measures, audit history and the record of disclosures."""
