using Xunit.Abstractions;
using Xunit.Sdk;

namespace UserApiOperator.EndToEnd;

/// <summary>The place of a test in its class's sequence (the main job is one story: apply, use, change, delete).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OrderAttribute(int order) : Attribute
{
    /// <summary>Lower runs first.</summary>
    public int Order { get; } = order;
}

/// <summary>Runs a class's tests by <see cref="OrderAttribute"/>.</summary>
public sealed class ByOrder : ITestCaseOrderer
{
    /// <inheritdoc/>
    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.GetCustomAttributes(typeof(OrderAttribute).AssemblyQualifiedName)
            .FirstOrDefault()?.GetConstructorArguments().FirstOrDefault() as int? ?? int.MaxValue);
}
