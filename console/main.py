"""The main file: builds the app. NiceGUI's test fixture runs this file once per test."""

from console.app import create_app

app = create_app()
