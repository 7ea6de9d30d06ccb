"""The sandbox BAG (Kadaster's BAG API Individuele Bevragingen v2, a faithful subset)."""
