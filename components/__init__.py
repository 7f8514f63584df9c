"""KFP v2 components of the house-price pipeline: thin wrappers around ``homeval.workflow.steps``.

Each module holds one plain function (collect, process, gates, drift, train, promote)
that KFP turns into a lightweight component with ``components.build.build_components``,
where the component image is chosen at compile time.  The functions import homeval inside
their bodies, because KFP ships only a function's own source to the container.
"""
