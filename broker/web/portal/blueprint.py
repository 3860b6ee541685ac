"""The ``portal`` blueprint object, shared by the modules that add its pages."""

from flask import Blueprint

bp = Blueprint("portal", __name__)
