"""The joint command centre: several sites' pictures, fed through broker bridges
(docs/centre.md)."""
