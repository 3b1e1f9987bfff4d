"""Province profiles: the data that makes the paper Hubei's, Anhui's or Fujian's."""
