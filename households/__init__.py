"""The register of households of each village or residential group (issue 15)."""
