"""Example Sésame provider plugin: ``/go/<supplier>`` sends the patron on with a signed JWT."""
