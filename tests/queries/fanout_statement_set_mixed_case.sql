/*
 * One job, several sinks: raw search queries are archived to the data lake and, in the
 * same pipeline, counted per term for autocomplete (EXECUTE STATEMENT SET). Written
 * the way a hurried user types: mixed-case keywords, backquoted names (`user`, `count`,
 * `timestamp` are keywords or functions in Flink SQL) and comments everywhere.
 */

set 'table.exec.state.ttl' = '1 h';   -- bound the per-term state
Set 'parallelism.default' = '8';

create TEMPORARY table Searches (
    `user`       bigint,
    Query        varchar(256),
    `Results`    Int,
    `timestamp`  Timestamp(3),
    Watermark For `timestamp` As `timestamp` - Interval '2' Second
) with (
    'connector' = 'kafka',
    'topic' = 'searches',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'search-fanout',
    'format' = 'json'
);

Create Table search_archive (
    `user`      BIGINT,
    query       STRING,
    results     INT,
    `timestamp` TIMESTAMP(3),
    dt          STRING
) Partitioned By (dt) With (
    'connector' = 'filesystem',
    'path' = 'hdfs:///lake/searches',
    'format' = 'json',
    'sink.partition-commit.trigger' = 'process-time',
    'sink.partition-commit.policy.kind' = 'success-file'
);

CREATE TABLE term_counts (
    term      STRING,
    `count`   BIGINT,
    zero_hits BIGINT,
    PRIMARY KEY (term) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'term-counts',
    'properties.bootstrap.servers' = 'kafka:9092',
    'key.format' = 'json',
    'value.format' = 'json'
);

Execute Statement Set
Begin
    -- everything, as is, partitioned by day
    Insert Into search_archive
    Select s.`user`, s.Query, s.`Results`, s.`timestamp`, date_format(s.`timestamp`, 'yyyy-MM-dd')
    From Searches As s;

    /* normalised terms only */
    insert into term_counts
    select lower(trim(Query)) as term,
           Count(*) as `count`,
           count(*) filter (where `Results` = 0) as zero_hits
    from Searches
    where Query <> ''
    group by lower(trim(Query));
End;
