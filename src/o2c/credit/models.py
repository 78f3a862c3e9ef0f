"""Credit management: credit limits per customer and group, exposure, sales orders under credit control
with their holds and releases, scorecards and reviews (docs/credit.md)."""
